"""vpcflow.network"""
