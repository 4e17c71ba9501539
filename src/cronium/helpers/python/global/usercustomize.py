"""On the Python path only for an event that asks for the global helpers: ``cronium`` is then
a builtin, the module, so that a script calls ``cronium.input()`` with no import.

A usercustomize rather than a sitecustomize: Python imports both at startup, and this one takes
the place of none of the system's (Ubuntu's sitecustomize installs its crash reporter).
"""

import builtins

import cronium

builtins.cronium = cronium  # type: ignore[attr-defined]
