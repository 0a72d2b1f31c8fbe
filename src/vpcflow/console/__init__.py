"""vpcflow.console"""
