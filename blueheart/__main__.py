from blueheart.cli import main

main()
