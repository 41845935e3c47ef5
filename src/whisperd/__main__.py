from whisperd.cli import main

main()
