"""Read models, the projector that keeps them current, and the eligibility rules over them.

Importing the package registers its eligibility reader with the domain (``answers``), so a
reappointment decision can check the hash it quotes without the domain importing upward.
"""
from . import answers  # noqa: F401 - registers the reader
