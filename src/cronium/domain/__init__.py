"""Pure domain: value objects, states and decisions. No I/O, no clock: time is an argument."""
