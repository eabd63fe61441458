role          = "backend"
instance_type = "t4g.medium"
