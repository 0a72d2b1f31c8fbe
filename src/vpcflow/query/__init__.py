"""vpcflow.query"""
