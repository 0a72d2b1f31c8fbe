"""vpcflow.lake"""
