from coordinator.cli.app import main

main()
