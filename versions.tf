terraform {
  # 1.3: preconditions, startswith/endswith; the module is tested on Terraform 1.15.
  required_version = ">= 1.3.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Written in the part of the provider that is the same in 3.39 (tested
      # offline) and 5.x/6.x (what users run): see docs/DESIGN.md section 4.
      version = ">= 3.39"
    }
  }
}
