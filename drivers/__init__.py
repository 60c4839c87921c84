"""Device drivers: how metalgraph talks to BMCs and switches. Nothing here imports the server."""
