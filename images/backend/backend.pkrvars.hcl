role           = "backend"
extra_packages = ["ffmpeg"]
instance_type  = "t4g.medium"
