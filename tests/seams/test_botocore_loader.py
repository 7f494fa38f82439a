"""Seam test of hubsim/patches/botocore_loader.py: sessions share botocore's static data, never their own."""
import boto3


def test_sessions_share_the_data_loader_but_sign_with_their_own_credentials(engine):
    first = boto3.session.Session(aws_access_key_id="AKIDFIRST", aws_secret_access_key="one", region_name="us-east-1")
    second = boto3.session.Session(aws_access_key_id="AKIDSECOND", aws_secret_access_key="two", region_name="eu-west-1")
    assert first._session.get_component("data_loader") is second._session.get_component("data_loader")
    one, two = first.client("dynamodb"), second.client("dynamodb")
    assert one.can_paginate("query") and two.can_paginate("query")
    assert one._request_signer._credentials.access_key == "AKIDFIRST"
    assert two._request_signer._credentials.access_key == "AKIDSECOND"
    assert (one.meta.region_name, two.meta.region_name) == ("us-east-1", "eu-west-1")
