# The bench stack (bench/stack) written for Terraform: `units` copies of the
# same 10 AWS objects (the route table's two subnet associations are
# resources of their own here). scripts/bench.sh applies it against the
# emulator behind the latency proxy (`endpoint`).

variable "units" { type = number }
variable "endpoint" { type = string }
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
  endpoints {
    ec2   = var.endpoint
    elbv2 = var.endpoint
    iam   = var.endpoint
    logs  = var.endpoint
    sts   = var.endpoint
  }
  default_tags {
    tags = { "bench:stack" = "bench" }
  }
}
resource "aws_vpc" "main" {
  count      = var.units
  cidr_block = "10.0.0.0/16"
  tags       = { Name = "bench" }
}
resource "aws_subnet" "a" {
  count             = var.units
  vpc_id            = aws_vpc.main[count.index].id
  cidr_block        = "10.0.1.0/24"
  availability_zone = "us-east-1a"
  tags              = { Tier = "public" }
}
resource "aws_subnet" "b" {
  count             = var.units
  vpc_id            = aws_vpc.main[count.index].id
  cidr_block        = "10.0.2.0/24"
  availability_zone = "us-east-1b"
  tags              = { Tier = "public" }
}
resource "aws_internet_gateway" "main" {
  count  = var.units
  vpc_id = aws_vpc.main[count.index].id
}
resource "aws_route_table" "public" {
  count  = var.units
  vpc_id = aws_vpc.main[count.index].id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main[count.index].id
  }
}
resource "aws_route_table_association" "a" {
  count          = var.units
  subnet_id      = aws_subnet.a[count.index].id
  route_table_id = aws_route_table.public[count.index].id
}
resource "aws_route_table_association" "b" {
  count          = var.units
  subnet_id      = aws_subnet.b[count.index].id
  route_table_id = aws_route_table.public[count.index].id
}
resource "aws_security_group" "lb" {
  count       = var.units
  vpc_id      = aws_vpc.main[count.index].id
  name        = "bench-lb-${count.index}"
  description = "HTTP from anywhere"
  ingress {
    protocol    = "tcp"
    from_port   = 80
    to_port     = 80
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group" "app" {
  count       = var.units
  vpc_id      = aws_vpc.main[count.index].id
  name        = "bench-app-${count.index}"
  description = "From the load balancer"
  ingress {
    protocol        = "tcp"
    from_port       = 8080
    to_port         = 8080
    security_groups = [aws_security_group.lb[count.index].id]
  }
  egress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_iam_role" "task" {
  count = var.units
  name  = "bench-task-${count.index}"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}
resource "aws_iam_role_policy" "logs" {
  count = var.units
  name  = "logs"
  role  = aws_iam_role.task[count.index].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["logs:PutLogEvents"], Resource = "*" }]
  })
}
resource "aws_cloudwatch_log_group" "app" {
  count             = var.units
  name              = "bench-app-${count.index}"
  retention_in_days = 7
}
resource "aws_lb_target_group" "app" {
  count       = var.units
  name        = "bench-app-${count.index}"
  port        = 8080
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = aws_vpc.main[count.index].id
}
