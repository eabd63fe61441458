role            = "transcoder"
extra_packages  = ["ffmpeg"]
instance_type   = "c7g.large"
volume_size_gib = 20
