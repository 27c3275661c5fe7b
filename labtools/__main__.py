from labtools.cli import main

main()
