"""The portal's pages and its API: parse the request, call one service, render."""
