from opamlock.cli import main

main()
