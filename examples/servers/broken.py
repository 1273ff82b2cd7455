"""A release that cannot start: importing it fails, as a release with a missing
dependency or a syntax error would. The server recipes must roll it back."""
raise ImportError("broken release: a module this app needs is missing")
