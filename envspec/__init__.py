"""Environment spec: typed models, the loader with readable errors, and the shared naming module."""

from envspec.loader import DEFAULT_DIRECTORY, Problem, SpecError, load_environments, load_file
from envspec.models import EnvironmentSpec
from envspec.naming import Names, names_for

__all__ = ["DEFAULT_DIRECTORY", "EnvironmentSpec", "Names", "Problem", "SpecError", "load_environments", "load_file", "names_for"]
