"""The server's wheel leaves out what the SDK's distribution ships (obolo-sdk, ./sdk):
obolo.sdk (excluded in pyproject.toml) and obolo/money.py (a module setuptools cannot
exclude by configuration), so one installed file has one owner."""

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED_BY_THE_SDK = {("obolo", "money")}


class WithoutTheSdk(build_py):
    def find_package_modules(self, package, package_dir):  # type: ignore[no-untyped-def]
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if (m[0], m[1]) not in SHIPPED_BY_THE_SDK]


setup(cmdclass={"build_py": WithoutTheSdk})
