"""ACT: executes a Plan through the API client; never re-plans and never prints.

Progress goes out through a hook interface that the CLI implements.
"""
