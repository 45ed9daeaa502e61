"""The routines shipped with Elevflow: one folder per routine (its BPMN, forms and README), and shared/.

Not code: this file only makes the folder a package (`elevflow.processes` when installed), so that
`elevflow init` finds the routines through importlib.resources wherever Elevflow is installed.
"""
