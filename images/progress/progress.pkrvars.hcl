role          = "progress"
instance_type = "t4g.medium"
