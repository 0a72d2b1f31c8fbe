"""vpcflow.capture"""
