module github.com/poolblame/poolblame

go 1.26.8

require (
	github.com/fatih/color v1.19.0
	github.com/klauspost/compress v1.20.3
	github.com/saferwall/pe v1.6.5
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/spf13/cobra v1.10.2
	github.com/spf13/pflag v1.0.10
	github.com/tc-hib/winres v0.2.1
	golang.org/x/arch v0.32.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require (
	github.com/ayoubfaouzi/pkcs7 v0.2.3 // indirect
	github.com/edsrzf/mmap-go v1.1.0 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/nfnt/resize v0.0.0-20180221191011-83c6a9932646 // indirect
	golang.org/x/crypto v0.33.0 // indirect
	golang.org/x/image v0.12.0 // indirect
	golang.org/x/text v0.22.0 // indirect
)
