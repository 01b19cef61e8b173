"""Domain model, rules, services and persistence shared by the API and the workers."""
