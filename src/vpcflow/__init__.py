"""vpcflow: Amazon VPC networking and VPC Flow Logs on a laptop.

Layers, each importing only the ones above it in this list:
records -> network -> capture -> lake -> query -> reports -> cli/console.
"""

__version__ = "0.1.0"
