"""vpcflow.reports"""
