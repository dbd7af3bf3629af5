from tamis.cli import main

main()
