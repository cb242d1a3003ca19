from anonymizer._cli import main

main()
