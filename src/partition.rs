//! AWS partitions: the commercial cloud, China and GovCloud each have their
//! own STS, sign-in and console hosts, and a credential from one is worthless
//! in another. Decided by the region, as the SDKs decide it.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partition {
    Aws,
    China,
    GovCloud,
}

impl Partition {
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::China
        } else if region.starts_with("us-gov-") {
            Partition::GovCloud
        } else {
            Partition::Aws
        }
    }

    /// The DNS suffix of the partition's regional service endpoints.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws | Partition::GovCloud => "amazonaws.com",
            Partition::China => "amazonaws.com.cn",
        }
    }

    /// The host of the federation endpoint (`/federation`).
    pub fn signin_host(self) -> &'static str {
        match self {
            Partition::Aws => "signin.aws.amazon.com",
            Partition::China => "signin.amazonaws.cn",
            Partition::GovCloud => "signin.amazonaws-us-gov.com",
        }
    }

    pub fn console_host(self) -> &'static str {
        match self {
            Partition::Aws => "console.aws.amazon.com",
            Partition::China => "console.amazonaws.cn",
            Partition::GovCloud => "console.amazonaws-us-gov.com",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_their_partition() {
        assert_eq!(Partition::of_region("eu-west-1"), Partition::Aws);
        assert_eq!(Partition::of_region("us-east-1"), Partition::Aws);
        assert_eq!(Partition::of_region("cn-north-1"), Partition::China);
        assert_eq!(Partition::of_region("cn-northwest-1"), Partition::China);
        assert_eq!(Partition::of_region("us-gov-west-1"), Partition::GovCloud);
        assert_eq!(Partition::of_region("us-gov-east-1"), Partition::GovCloud);
    }
}
