"""DAY TWO: drift reports, their metrics, and the reconcile loop behind `pxrun watch`.

What this layer may do: read the cluster through `observe`, ask the planner (refresh-only
for drift, normal for reconciling), carry out what the watch policy allows through
`apply`, hold the stack lock, keep reconcile records, and expose metrics with
prometheus_client (a textfile for node_exporter, `/metrics` for Prometheus). What it may
not do: print (it reports through an event sink the CLI gives it), decide a route of its
own (the plan does), or start the simulator. Only `pxrun.cli` imports it.
"""
