"""The artifact store: versions, aliases, names and the files each version holds."""
