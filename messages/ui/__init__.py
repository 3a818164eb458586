"""The staff inbox: server-rendered pages at /, with their templates and static files."""
