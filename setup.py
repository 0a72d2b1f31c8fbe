"""The one compiled part of vpcflow: the flow log tokenizer (src/vpcflow/records/_tokenizer.c).

Everything else is in pyproject.toml. The extension is optional: where it cannot be compiled (no C
compiler), the package installs without it and the reader parses every block with pyarrow, only
slower (records/text_codec.py)."""

import sys

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vpcflow.records._tokenizer",
            ["src/vpcflow/records/_tokenizer.c"],
            extra_compile_args=[] if sys.platform == "win32" else ["-O3"],
            optional=True,
        )
    ]
)
