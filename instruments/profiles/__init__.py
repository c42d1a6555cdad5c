"""Profile-driven analyzers and strip readers: a TOML file per instrument model, no code.

``load_profile(name)`` validates a profile; ``ProfileDecoder`` reads its bytes;
``ProfileSimulator`` writes them. The driver is registered as ``"profile"`` (see ``driver``).
"""

from instruments.profiles.decoder import ProfileDecoder
from instruments.profiles.schema import (
           Profile,
           ProfileError,
           builtin_names,
           find_profile,
           load_profile,
)
from instruments.profiles.simulator import FAULTS, ProfileSimulator

__all__ = ["FAULTS", "Profile", "ProfileDecoder", "ProfileError", "ProfileSimulator",
           "builtin_names", "find_profile", "load_profile"]
