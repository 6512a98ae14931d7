from rawgwh.cli import main

main()
