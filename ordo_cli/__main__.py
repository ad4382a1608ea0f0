import sys

from ordo_cli.main import main

sys.exit(main())
