"""Build hook: the repository's ``model/`` and ``scenarios/`` ship inside the package.

All metadata is in ``setup.cfg``. The repository keeps ``model/`` and
``scenarios/`` at its top level, where people edit them; an installed
``shuangta`` needs them inside the package. ``build_py`` (which every wheel,
hence every ``pip install .``, goes through) copies both trees into the built
package as ``sim/_bundled/model`` and ``sim/_bundled/scenarios``, where
``sim/resources.py`` finds them when no checkout is around. Copying at build
time keeps one copy in the repository, needs no symbolic links and no
``__init__.py`` in data folders, and takes every file of the two trees, so a
new scenario or data file ships without a packaging change. ``MANIFEST.in``
puts both trees into a source distribution, so a wheel built from it has them
too. An editable install skips the copy: it reads the checkout.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: Top-level folders copied into the package, and where (sim.resources.SHIPPED and BUNDLE).
SHIPPED = ("model", "scenarios")
BUNDLE = Path("sim", "_bundled")


class BuildWithLibrary(build_py):
    """``build_py`` that also copies ``model/`` and ``scenarios/`` into ``sim/_bundled/``."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in SHIPPED:
            target = Path(self.build_lib) / BUNDLE / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(HERE / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildWithLibrary})
