"""The command registry: name -> (module, attribute, one-line help).

Why a table: `pxrun --help` lists commands from here without importing any of them, and a
new command is one new row plus its own module.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("pxrun.cli.cmd_spec", "validate", "Check a spec; report every problem at once."),
    "schema": ("pxrun.cli.cmd_schema", "schema", "Print the JSON Schema of the spec language."),
    "list": ("pxrun.cli.cmd_list", "list_cmd", "List containers on the cluster."),
    "plan": ("pxrun.cli.cmd_plan", "plan_cmd", "Show what apply would change, and why."),
    "doctor": ("pxrun.cli.cmd_doctor", "doctor", "Check connection, TLS and token rights."),
    "sim": ("pxrun.cli.cmd_sim", "sim", "Run and manage the Proxmox VE simulator."),
    "apply": ("pxrun.cli.cmd_apply", "apply_cmd", "Make the cluster match the spec."),
    "destroy": ("pxrun.cli.cmd_destroy", "destroy_cmd",
                "Delete the stack's containers, or one container by VMID."),
    "force-unlock": ("pxrun.cli.cmd_apply", "force_unlock_cmd",
                     "Release a stack's apply lock left by a crashed run."),
    "drift": ("pxrun.cli.cmd_drift", "drift_cmd", "Report what changed outside pxrun (cron)."),
    "watch": ("pxrun.cli.cmd_watch", "watch_cmd",
              "Reconcile loop: report drift, serve /metrics, apply if allowed."),
    "completion": ("pxrun.cli.cmd_shell", "completion", "Print a shell completion script."),
    "man": ("pxrun.cli.cmd_shell", "man", "Print the manual page, made from this help."),
    "create": ("pxrun.cli.cmd_create", "create_cmd",
               "Create one container: a few questions, flags, or -c FILE."),
    "show": ("pxrun.cli.cmd_show", "show_cmd", "Show a saved plan for review."),
    "import": ("pxrun.cli.cmd_import", "import_cmd",
               "Adopt existing containers into a stack; write their spec."),
    "export": ("pxrun.cli.cmd_import", "export_cmd",
               "Write the spec of existing containers, changing nothing."),
    "templates": ("pxrun.cli.cmd_templates", "templates",
                  "List OS templates, or download one to the nodes."),
    "rollback": ("pxrun.cli.cmd_recover", "rollback_cmd",
                 "Roll a container back to a snapshot (pxrun-<time>)."),
    "restore": ("pxrun.cli.cmd_recover", "restore_cmd",
                "Bring a container back from a pxrun backup."),
}

# Other names for a command (pxrun 0.1 spellings). Not listed in --help; resolved before
# COMMANDS, so an alias works as soon as its target command exists.
ALIASES: dict[str, str] = {
    "save-config": "export",
}
