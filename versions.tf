terraform {
  # 1.3: preconditions, startswith/endswith; the module is tested on Terraform 1.15.
  required_version = ">= 1.3.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100.0, the last 5.x release, is what the end-to-end suite applies (every
      # optional branch, no drift on a second plan). Earlier 5.x releases from
      # 5.76.0 (the first whose runtime list has python3.13, the default) know
      # every argument used here but are not tested. 6.x: the module keeps to the
      # rules in docs/DESIGN.md section 4 (no data.aws_region name, no bucket
      # region, no inline bucket or role-policy arguments); its schema was checked
      # (6.25.0), not applied. python3.14 needs 6.20.0 or later.
      version = ">= 5.100.0"
    }
  }
}
