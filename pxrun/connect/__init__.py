"""Talking to Proxmox: connection settings, TLS, and the one API client Protocol.

- `settings`: where the endpoint, token and TLS options come from (flags > environment >
  `.env` > profile > spec block; `--sim` facts above all), each with its source;
- `tls`: CA files, SHA-256 certificate pinning; `pool`: the requests adapter for writes;
- `client`: the `ProxmoxClient` Protocol and `ProxmoxerClient`: GETs over the standard
  library (`httpget`, `http11`), writes through proxmoxer (specs/0121);
- `errormap`: Proxmox's answers become typed `pxrun.errors.ApiError`s, in one function;
- `retry`, `tasks`: bounded retries of safe requests; waiting for UPIDs;
- `session`, `rights`, `doctor`: opening a client with its `ConnectionInfo`; what a token may do.

Only `observe`, `apply` and `cli` use this package; it never imports the simulator, and
importing the package itself imports neither proxmoxer nor requests.
"""
