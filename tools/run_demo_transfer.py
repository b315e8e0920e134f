"""The transfer demo (`make demo-transfer` = `mmmixer demo-transfer`); the logic lives in mmmixer.transfer.demo."""

from mmmixer.cli.demo_transfer import main

if __name__ == '__main__':
    main()
