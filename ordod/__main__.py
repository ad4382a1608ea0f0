import sys

from ordod.main import main

sys.exit(main())
