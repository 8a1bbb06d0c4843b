from mission.cli import main

main()
