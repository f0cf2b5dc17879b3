"""Reading and building messages: parse, headers, sanitize, HTML to text, build. Imports neither Flask's request nor the database."""
