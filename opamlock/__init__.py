"""opamlock: declarative, reproducible OCaml and MirageOS builds.

Data flows one way through the package:

    text -> opam AST -> package model -> universe -> solution -> lock -> fetch plan -> build -> image

Each arrow is a module (or subpackage) that imports only from the ones to its left.
"""

__version__ = "0.1.0"
