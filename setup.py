"""The one thing pyproject.toml cannot say: the wire-contract folder ``shared/`` installs as
``ordo_shared`` (a PyPI package literally named ``shared`` exists and would collide)."""

from setuptools import find_packages, setup

_APPS = find_packages(include=["ordod", "ordod.*", "ordo_tui", "ordo_tui.*", "ordo_cli", "ordo_cli.*"])
_SHARED = ["ordo_shared"] + [f"ordo_shared.{sub}" for sub in find_packages("shared")]

setup(
    packages=_APPS + _SHARED,
    package_dir={"ordo_shared": "shared"},
    package_data={"ordo_shared": ["*.md"], "ordo_tui": ["**/*.tcss"]},
)
